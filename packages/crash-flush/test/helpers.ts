/** Shared by the child-process tests: run a fixture, read an OTLP record. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `test/fixtures/<file>` with tsx; `onSpawn` gets the child (to signal or kill it). */
export function runFixture(
  file: string,
  env: Record<string, string>,
  options: { nodeArgs?: string[]; onSpawn?: (child: ChildProcess) => void } = {},
): Promise<Ended> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        ...(options.nodeArgs ?? []),
        '--import',
        'tsx',
        fileURLToPath(new URL(`./fixtures/${file}`, import.meta.url)),
      ],
      { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    options.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

type Attribute = { key: string; value: Record<string, unknown> };
/** The first log record of an OTLP/JSON body, with its attributes as a lookup. */
export function recordOf(body: unknown) {
  const payload = body as {
    resourceLogs: {
      resource: { attributes: Attribute[] };
      scopeLogs: {
        logRecords: {
          attributes: Attribute[];
          body: { stringValue: string };
          severityNumber: number;
          severityText: string;
        }[];
      }[];
    }[];
  };
  const resource = payload.resourceLogs[0]!;
  const record = resource.scopeLogs[0]!.logRecords[0]!;
  const attr = (list: Attribute[], key: string) =>
    Object.values(list.find((a) => a.key === key)?.value ?? {})[0];
  return {
    resource: (k: string) => attr(resource.resource.attributes, k),
    attr: (k: string) => attr(record.attributes, k),
    body: record.body.stringValue,
    severityNumber: record.severityNumber,
    severityText: record.severityText,
  };
}
