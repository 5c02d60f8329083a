// Adam (Kingma & Ba) over named float32 arrays, with bias correction; no weight decay.

export class Adam {
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private t = 0;

  constructor(private readonly lr: number, private readonly beta1 = 0.9, private readonly beta2 = 0.999, private readonly eps = 1e-8) {}

  /** One step: params[name] −= lr · m̂ / (√v̂ + eps) for every (param, grad) pair given. */
  step(pairs: [string, Float32Array, Float32Array][], lr = this.lr): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    const { beta1: b1, beta2: b2, eps } = this;
    for (const [name, p, g] of pairs) {
      let m = this.m.get(name);
      let v = this.v.get(name);
      if (!m || !v) {
        this.m.set(name, (m = new Float32Array(p.length)));
        this.v.set(name, (v = new Float32Array(p.length)));
      }
      const a = lr / c1;
      const s = 1 / Math.sqrt(c2);
      for (let i = 0; i < p.length; i++) {
        const gi = g[i];
        const mi = (m[i] = b1 * m[i] + (1 - b1) * gi);
        const vi = (v[i] = b2 * v[i] + (1 - b2) * gi * gi);
        p[i] -= (a * mi) / (Math.sqrt(vi) * s + eps);
      }
    }
  }
}
