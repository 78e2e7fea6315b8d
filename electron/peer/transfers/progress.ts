/** Smoothed transfer speed (bytes/s) from periodic samples. */
export class SpeedMeter {
  private lastBytes = 0;
  private lastAt = Date.now();
  speed = 0;
  sample(bytes: number, now = Date.now()): number {
    const dt = (now - this.lastAt) / 1000;
    if (dt >= 0.2) {
      const inst = Math.max(0, bytes - this.lastBytes) / dt;
      this.speed = this.speed === 0 ? inst : this.speed * 0.6 + inst * 0.4;
      this.lastBytes = bytes;
      this.lastAt = now;
    }
    return this.speed;
  }
  reset(bytes: number): void {
    this.lastBytes = bytes;
    this.lastAt = Date.now();
    this.speed = 0;
  }
}

export function etaSeconds(bytes: number, total: number, speed: number): number | null {
  if (speed <= 0 || total <= 0) return null;
  return Math.max(0, Math.round((total - bytes) / speed));
}
