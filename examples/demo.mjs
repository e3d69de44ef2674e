// `pnpm demo` (after `pnpm build`): loads the four built packages the way a user's agent would.
// The end-to-end log-agent scenario replaces this as examples/log-agent lands.
const names = ['batch', 'chunk-pool', 'crash-flush', 'reaper'];
for (const name of names) {
  const { VERSION } = await import(`../packages/${name}/dist/index.js`);
  process.stdout.write(`@holdfast/${name} ${VERSION}\n`);
}
