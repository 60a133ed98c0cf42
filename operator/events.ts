// Kubernetes Events for run milestones. Names are deterministic per run and reason, so a restarted
// operator re-emitting the same milestone gets AlreadyExists instead of a duplicate Event.
import type { CoreV1Event } from '@kubernetes/client-node';
import type { DataSync } from '../api/types.ts';
import { GROUP, VERSION, KIND } from '../api/types.ts';
import { createIfAbsent, type Kube } from './kube.ts';
import { redact } from './policy/status.ts';
import { shortHash } from './names.ts';

export interface RunEvent { runId: string; reason: string; message: string; type: 'Normal' | 'Warning' }

export async function emitEvent(kube: Kube, ds: DataSync, ev: RunEvent, now: Date, instance: string): Promise<void> {
  const namespace = String(ds.metadata.namespace);
  const name = `${ds.metadata.name}.${ev.runId}.${ev.reason.toLowerCase()}-${shortHash(String(ds.metadata.uid), 6)}`.slice(0, 253);
  const body: CoreV1Event = {
    metadata: { name, namespace },
    involvedObject: { apiVersion: `${GROUP}/${VERSION}`, kind: KIND, name: ds.metadata.name, namespace, uid: String(ds.metadata.uid) },
    reason: ev.reason,
    message: redact(ev.message).slice(0, 1024),
    type: ev.type,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
    source: { component: 'datasync-operator' },
    reportingComponent: 'datasync.dev/operator',
    reportingInstance: instance.slice(0, 128),
  };
  await createIfAbsent(() => kube.core.createNamespacedEvent({ namespace, body }));
}
