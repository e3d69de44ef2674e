/**
 * A tiny agent that crashes: it installs the crash guard with an OTLP sink (DEMO_OTLP_URL), logs a
 * few records, then throws in a timer. The demo checks that the report arrived and that the exit
 * code is the one Node gives an uncaught exception (1).
 */
import { installCrashGuard, otlpLogsSink } from '@holdfast/crash-flush';

const guard = installCrashGuard({
  service: 'demo-log-agent',
  sink: otlpLogsSink({ url: process.env.DEMO_OTLP_URL ?? 'http://127.0.0.1:9/v1/logs' }),
  metadata: { 'k8s.pod.name': 'log-agent-0', 'k8s.node.name': 'demo-node-1' },
});
for (let seq = 1; seq <= 3; seq += 1) guard.log({ msg: 'shipped chunk', seq });
setTimeout(() => {
  throw new Error('demo: the parser met a record it did not expect');
}, 10);
