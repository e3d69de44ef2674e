// The lint rules that keep a rejection from going unobserved can fail: lint a control file that
// breaks each of them on purpose and expect exactly the errors it marks.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { expect, test } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const control = fileURLToPath(new URL('./fixtures/lint/unobserved-promises.ts', import.meta.url));

/** Lines of the control marked `// expect: <rule>`, as `line:rule`. */
function expectedErrors(): string[] {
  return readFileSync(control, 'utf8')
    .split('\n')
    .flatMap((text, index) => {
      const mark = /\/\/ expect: ([\w-]+)/.exec(text);
      return mark ? [`${index + 1}:@typescript-eslint/${mark[1]}`] : [];
    });
}

test('lint rejects a `void` promise, an unawaited one, an async listener, an await-less async', async () => {
  // `ignore: false`: the control is in the config's ignores so that `pnpm lint` stays green.
  // The control is not library code, so `require-await` is applied to it as it is to `src/`.
  const eslint = new ESLint({
    cwd: root,
    ignore: false,
    overrideConfig: { rules: { '@typescript-eslint/require-await': 'error' } },
  });
  const [result] = await eslint.lintFiles([control]);
  const found = (result?.messages ?? []).map((m) => `${m.line}:${m.ruleId ?? m.message}`);
  expect(expectedErrors()).toHaveLength(4);
  expect(found.sort()).toEqual(expectedErrors().sort());
}, 60_000);

test('`require-await` is on for library code and off for tests', async () => {
  const eslint = new ESLint({ cwd: root });
  const severity = async (file: string): Promise<unknown> => {
    const config = (await eslint.calculateConfigForFile(`${root}${file}`)) as {
      rules?: Record<string, unknown>;
    };
    const rule = config.rules?.['@typescript-eslint/require-await'];
    return Array.isArray(rule) ? rule[0] : rule;
  };
  expect(await severity('packages/batch/src/fetch-all.ts')).toBe(2);
  expect(await severity('packages/batch/test/fetch-all.test.ts')).not.toBe(2);
}, 60_000);
