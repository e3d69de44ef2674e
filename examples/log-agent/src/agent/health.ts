/**
 * The agent's health checks, with `@holdfast/reaper`:
 * - the search backend, with `httpProbe` — in process, no `wget` child to orphan;
 * - a sidecar's readiness script that hangs and leaves children behind, with `commandProbe`: at
 *   each timeout its whole process group is killed, and the orphans it left are reaped by the
 *   agent, which is a child subreaper. This is Zipkin's `wget` pile-up, answered.
 */
import {
  commandProbe,
  httpProbe,
  installReaper,
  startHealthCheck,
  type HealthCheck,
  type Reaper,
} from '@holdfast/reaper';

export interface AgentHealth {
  readonly backend: HealthCheck;
  readonly sidecar: HealthCheck;
  readonly reaper: Reaper;
  stop(): Promise<void>;
}

export function startAgentHealth(backendUrl: string): AgentHealth {
  const reaper = installReaper({ subreaper: true });
  const backend = startHealthCheck({
    probe: httpProbe(`${backendUrl}/health`),
    interval: 200,
    timeout: 300,
    failureThreshold: 2,
  });
  const sidecar = startHealthCheck({
    // Three children that outlive the check; the check itself never answers in time.
    probe: commandProbe('sh', ['-c', 'sleep 5 & sleep 5 & sleep 5 & wait'], { killGrace: 100 }),
    interval: 300,
    timeout: 100,
  });
  return {
    backend,
    sidecar,
    reaper,
    stop: async () => {
      await Promise.all([backend.stop(), sidecar.stop()]);
      await reaper.close();
    },
  };
}
