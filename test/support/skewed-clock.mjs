// Preloaded (`node --import`, through NODE_OPTIONS) into a process the e2e tests fork to give it a
// wall clock TEST_CLOCK_SKEW_MS off from the machine's (and so from PostgreSQL's): `Date.now()` and
// `new Date()` move; the monotonic clock (performance.now, timers) does not, as when machines disagree.
const skew = Number(process.env.TEST_CLOCK_SKEW_MS ?? 0);
if (Number.isFinite(skew) && skew !== 0) {
  const RealDate = Date;
  class SkewedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(RealDate.now() + skew);
      else super(...args);
    }
    static now() {
      return RealDate.now() + skew;
    }
  }
  globalThis.Date = SkewedDate;
}
