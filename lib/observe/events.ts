import { EventEmitter } from 'node:events';
import type { Side, Stage } from '../stage/stage.js';
import type { KeyTuple } from '../translate/types.js';

/** Every event dualwrite emits, with its payload. */
export interface DualWriteEventMap {
  /** The stage changed (config reload, setStage or flip). */
  stageChanged: [{ from: Stage; to: Stage; source: string; at: Date }];
  /** The circuit breaker in front of `side` opened: syncs to it stop until a probe succeeds. */
  breakerOpened: [{ side: Side; error?: string }];
  /** The breaker in front of `side` closed again: the backlog drains. */
  breakerClosed: [{ side: Side }];
  /** A key went to quarantine: its image cannot be written to the target (or kept failing). */
  keyQuarantined: [
    { table: string; key: KeyTuple; direction: string; code: string; column?: string; reason: string },
  ];
  /** The outbox backlog of `side` reached the configured watermark. */
  backlogHigh: [{ side: Side; backlog: number; watermark: number }];
  /** A sync of keys of one table completed. */
  synced: [
    {
      table: string;
      from: Side;
      to: Side;
      upserted: number;
      deleted: number;
      quarantined: number;
      ms: number;
    },
  ];
}

export type DualWriteEventName = keyof DualWriteEventMap;

/**
 * Typed event emitter shared by the handle, the sync worker and the flip. A listener that throws is
 * logged by the emitter's owner, never allowed to break a sync (emit via `safeEmit`).
 */
export class DualWriteEvents extends EventEmitter<DualWriteEventMap> {
  /** Emits without letting a throwing listener escape into the caller. */
  safeEmit<K extends DualWriteEventName>(name: K, ...args: DualWriteEventMap[K]): boolean {
    try {
      return (this.emit as (n: K, ...a: DualWriteEventMap[K]) => boolean)(name, ...args);
    } catch {
      return false;
    }
  }
}
