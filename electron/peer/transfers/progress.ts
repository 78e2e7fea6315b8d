/**
 * Transfer speed (bytes/s) over a sliding window of recent samples. A window
 * rather than an instant rate keeps a rate limiter's initial burst, or one
 * large read, from showing as a speed the transfer cannot sustain.
 */
export class SpeedMeter {
  private samples: { at: number; bytes: number }[] = [];
  speed = 0;

  constructor(private readonly windowMs = 4000) {}

  sample(bytes: number, now = Date.now()): number {
    this.samples.push({ at: now, bytes });
    while (this.samples.length > 2 && now - this.samples[1]!.at >= this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const span = now - first.at;
    // Under half a second of history says little; keep reporting 0 until there is more.
    this.speed = span >= 500 ? Math.max(0, bytes - first.bytes) / (span / 1000) : 0;
    return this.speed;
  }

  reset(bytes: number, now = Date.now()): void {
    this.samples = [{ at: now, bytes }];
    this.speed = 0;
  }
}

export function etaSeconds(bytes: number, total: number, speed: number): number | null {
  if (speed <= 0 || total <= 0) return null;
  return Math.max(0, Math.round((total - bytes) / speed));
}
