/**
 * Metadata helpers.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Metadata } from './options.js';

/**
 * Pod, namespace and node of a Kubernetes pod, from the downward-API environment variables
 * (`POD_NAME`, `POD_NAMESPACE`, `NODE_NAME`, also `HOSTNAME`) and the service-account namespace
 * file a pod has. Only these keys, never the whole environment.
 *
 * @example
 * ```ts
 * installCrashGuard({ service: 'log-agent', sink, metadata: kubernetesMetadata });
 * ```
 */
export function kubernetesMetadata(env: NodeJS.ProcessEnv = process.env): Metadata {
  const out: Record<string, string> = {};
  const pod = env.POD_NAME ?? env.HOSTNAME;
  if (pod !== undefined) out['k8s.pod.name'] = pod;
  let namespace = env.POD_NAMESPACE;
  if (namespace === undefined) {
    try {
      namespace = readFileSync(
        '/var/run/secrets/kubernetes.io/serviceaccount/namespace',
        'utf8',
      ).trim();
    } catch {
      // not in a pod, or no service account mounted
    }
  }
  if (namespace !== undefined && namespace !== '') out['k8s.namespace.name'] = namespace;
  if (env.NODE_NAME !== undefined) out['k8s.node.name'] = env.NODE_NAME;
  return out;
}
