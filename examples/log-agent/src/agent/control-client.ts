/**
 * The agent's side of the demo's control channel: every `intervalMs` it posts its counters and
 * asks for a command. A control channel that is away costs nothing but a missed update.
 */
import type { AgentStats } from './agent-stats.js';

export interface ControlClientOptions {
  readonly url: string;
  readonly stats: () => AgentStats;
  readonly onCommand: (command: string) => void;
  readonly intervalMs?: number;
}

export function startControlClient(options: ControlClientOptions): { stop(): void } {
  const tick = async () => {
    try {
      await fetch(`${options.url}/agent/stats`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(options.stats()),
        signal: AbortSignal.timeout(1_000),
      });
      const response = await fetch(`${options.url}/agent/command`, {
        signal: AbortSignal.timeout(1_000),
      });
      const { command } = (await response.json()) as { command: string | null };
      if (command !== null) options.onCommand(command);
    } catch {
      // The next tick tries again.
    }
  };
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      await tick();
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
    }
  };
  // `tick` catches everything it can meet, so a failure here is a bug in this file: it is let
  // through as an uncaught exception, which the agent's crash guard reports.
  loop().catch((error: unknown) => {
    setImmediate(() => {
      throw error;
    });
  });
  return {
    stop: () => {
      stopped = true;
    },
  };
}
