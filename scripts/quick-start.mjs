// Reads the two commands of the README's Quick start (the first fenced code block under
// `## Quick start`): `node scripts/quick-start.mjs demo` prints the first, `... test` the second.
// `.ci/run` runs the second, so the README and CI cannot drift apart.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function quickStartCommands(readme) {
  const section = readme.split(/^## Quick start\s*$/m)[1];
  if (section === undefined) throw new Error('README.md has no "## Quick start" section');
  const block = /^```[a-z]*\n([\s\S]*?)^```/m.exec(section);
  if (block === null) throw new Error('the Quick start section has no fenced code block');
  const lines = block[1].split('\n').filter((line) => line.trim() !== '');
  if (lines.length !== 2) {
    throw new Error(
      `the Quick start code block must hold exactly two commands, found ${lines.length}`,
    );
  }
  return { demo: lines[0], test: lines[1] };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const which = process.argv[2];
  if (which !== 'demo' && which !== 'test') {
    throw new TypeError(`Expected the argument to be \`demo\` or \`test\`, got \`${which}\``);
  }
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  process.stdout.write(`${quickStartCommands(readme)[which]}\n`);
}
