import type { Action } from './actions.js'
import type { ObservedUnit } from './observed.js'
import type { DesiredUnit } from './units.js'

const BUSY = new Set(['starting', 'stopping', 'crashed', 'failed'])

/**
 * The difference between what the spec asks for and what runs, as actions. Pure and
 * level-triggered: called again after any change, it picks up where things stand, and
 * plan(x, x) is empty.
 *
 * - missing units start once everything they depend on is ready;
 * - crashed or failed units restart (the reconciler paces the retries);
 * - units whose fingerprint changed are replaced one per group at a time, once everything they
 *   depend on is ready, and only while the rest of the group is settled (nothing starting,
 *   stopping or crashed, no copy missing, no surplus copy still to stop), so a rolling change
 *   never takes a whole group down;
 * - units the spec no longer names stop, app and worker instances draining first; while no copy
 *   that stays in their group is ready, one ready surplus copy keeps serving.
 */
export function plan (desired: readonly DesiredUnit[], observed: readonly ObservedUnit[]): Action[] {
  const byName = new Map(observed.map((o) => [o.name, o]))
  const ready = (name: string): boolean => byName.get(name)?.state === 'ready'
  const actions: Action[] = []
  const replaceCandidates = new Map<string, DesiredUnit>()
  for (const unit of desired) {
    const seen = byName.get(unit.name)
    const depsReady = unit.dependsOn.every(ready)
    if (seen === undefined) {
      if (depsReady) actions.push({ type: 'start', unit, reason: 'missing' })
    } else if (seen.state === 'crashed' || seen.state === 'failed') {
      if (depsReady) actions.push({ type: 'restart', unit, reason: seen.state })
    } else if (seen.state === 'ready' && seen.fingerprint !== unit.fingerprint && depsReady && !replaceCandidates.has(unit.group)) {
      replaceCandidates.set(unit.group, unit)
    }
  }
  const wanted = new Set(desired.map((d) => d.name))
  for (const [group, unit] of replaceCandidates) {
    const groupBusy = observed.some((o) => o.group === group && BUSY.has(o.state))
    const groupGrowing = desired.some((d) => d.group === group && !byName.has(d.name))
    // Copies being scaled away still count as serving; replacing alongside their stop could leave none.
    const groupShrinking = observed.some((o) => o.group === group && !wanted.has(o.name))
    if (!groupBusy && !groupGrowing && !groupShrinking) actions.push({ type: 'replace', unit, reason: 'changed' })
  }
  // Scaling in while none of the copies that stay is ready would leave the group with nothing
  // serving: one surplus copy that is ready keeps running until a wanted copy is.
  const keptFor = new Set<string>()
  for (const o of observed) {
    if (wanted.has(o.name) || o.state === 'stopping') continue
    const groupStays = desired.some((d) => d.group === o.group)
    if (o.state === 'ready' && groupStays && !keptFor.has(o.group) && !desired.some((d) => d.group === o.group && ready(d.name))) {
      keptFor.add(o.group)
      continue
    }
    actions.push({ type: 'stop', name: o.name, drain: o.kind === 'app' || o.kind === 'worker', reason: 'not-desired' })
  }
  return actions
}

/** Whether everything the spec asks for runs, ready and as specified, and nothing else does. */
export function converged (desired: readonly DesiredUnit[], observed: readonly ObservedUnit[]): boolean {
  const byName = new Map(observed.map((o) => [o.name, o]))
  return observed.length === desired.length && desired.every((d) => {
    const o = byName.get(d.name)
    return o !== undefined && o.state === 'ready' && o.fingerprint === d.fingerprint
  })
}
