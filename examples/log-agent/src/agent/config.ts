/**
 * The agent's configuration, from its environment (as a container would give it). The demo sets
 * every variable; a missing one is a clear error, not a default that hides a wiring mistake.
 */
export interface AgentConfig {
  /** The Docker Engine API socket used for discovery. */
  readonly dockerSocket: string;
  /** Base URLs of the two log backends the two outputs ship to. */
  readonly outputs: { readonly search: string; readonly archive: string };
  /** OTLP/HTTP logs endpoint for crash reports. */
  readonly otlpUrl: string;
  /** The demo's control channel: stats out, commands in. */
  readonly controlUrl: string;
  /** Where the chunk pool's files, the crash spool and the source checkpoint live. */
  readonly stateDir: string;
  /** Lines in each running container's log, and how fast the agent reads them in all. */
  readonly linesPerContainer: number;
  readonly linesPerSecond: number;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`log-agent: ${name} is not set`);
  return value;
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string): number {
  const value = Number(required(env, name));
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`log-agent: ${name} must be a positive integer, got "${env[name]}"`);
  }
  return value;
}

export function readConfig(env: NodeJS.ProcessEnv): AgentConfig {
  return {
    dockerSocket: required(env, 'AGENT_DOCKER_SOCKET'),
    outputs: {
      search: required(env, 'AGENT_SEARCH_URL'),
      archive: required(env, 'AGENT_ARCHIVE_URL'),
    },
    otlpUrl: required(env, 'AGENT_OTLP_URL'),
    controlUrl: required(env, 'AGENT_CONTROL_URL'),
    stateDir: required(env, 'AGENT_STATE_DIR'),
    linesPerContainer: positiveInteger(env, 'AGENT_LINES_PER_CONTAINER'),
    linesPerSecond: positiveInteger(env, 'AGENT_LINES_PER_SECOND'),
  };
}
