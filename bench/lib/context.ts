/** What every scenario gets, and what it returns. */
import { randomBytes } from 'node:crypto';
import { SingleBar, Presets } from 'cli-progress';

export type Profile = 'quick' | 'full';

export interface Row {
  metric: string;
  unit: string;
  dispatcher: number;
  /** The baselines, in the same run (see signed.ts and contenders.ts). */
  signedLoop?: number;
  pQueue?: number;
  rawUndici?: number;
  naive?: number;
  /** The goal, as text, and whether this run met it. */
  target?: string;
  pass?: boolean;
}

export interface ScenarioResult {
  id: string;
  title: string;
  rows: Row[];
  /** Anything else worth keeping in the JSON (settings, raw rounds). */
  details?: Record<string, unknown>;
}

export interface Context {
  profile: Profile;
  /** Signing secret of this run: random, never printed or written. */
  secret: string;
  /** Scales a count by profile. */
  pick<T>(quick: T, full: T): T;
  /** A progress bar on a terminal, nothing elsewhere. */
  progress(label: string, total: number): { tick(n?: number): void; stop(): void };
  /** One line per round when stdout is not a terminal (CI, a pipe), where no bar shows progress. */
  note(line: string): void;
  /** Facts one scenario leaves for a later one (the peak rate for the latency scenario). */
  shared: Record<string, number>;
}

export function createContext(profile: Profile): Context {
  return {
    profile,
    secret: `whsec_${randomBytes(32).toString('base64')}`,
    pick: (quick, full) => (profile === 'full' ? full : quick),
    progress(label, total) {
      if (!process.stdout.isTTY) return { tick() {}, stop() {} };
      const bar = new SingleBar({ format: `  ${label.padEnd(28)} {bar} {percentage}% | {value}/{total}`, hideCursor: true }, Presets.shades_classic);
      bar.start(total, 0);
      let value = 0;
      return {
        tick: (n = 1) => bar.update((value += n)),
        stop: () => bar.stop(),
      };
    },
    note(line) {
      if (!process.stdout.isTTY) console.log(`     ${line}`);
    },
    shared: {},
  };
}
