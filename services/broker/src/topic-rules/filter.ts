// MQTT topic-filter relations the topic rules need ([MQTT-4.7]): does a filter match a topic (every
// PUBLISH and delivery, so no allocation), does one filter cover another (every topic the second
// matches, the first matches too), and do two filters share a topic. Filters are given as levels.
// `+` matches one level (an empty one too), `#` the rest including its parent level, and a filter
// starting with a wildcard matches no topic starting with `$` [MQTT-4.7.2-1].

const DOLLAR = 36; // '$'
const isWild = (level: string) => level === '+' || level === '#';

/** Does the filter `f` (levels) match the topic name `topic`? */
export function matchesTopic(f: readonly string[], topic: string): boolean {
  if (topic.charCodeAt(0) === DOLLAR && isWild(f[0]!)) return false;
  let pos = 0;
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === '#') return true;
    // Every level of the topic was consumed and the filter wants another.
    if (pos > topic.length) return false;
    let end = topic.indexOf('/', pos);
    if (end === -1) end = topic.length;
    if (level !== '+' && (end - pos !== level.length || !topic.startsWith(level, pos))) return false;
    pos = end + 1;
  }
  return pos === topic.length + 1;
}

/** A level of `b` can only be a topic level `a`'s level at the same place matches. */
function levelWithin(a: string, b: string, first: boolean): boolean {
  if (a === '+') return !(first && b.charCodeAt(0) === DOLLAR);
  return a === b;
}

/** Every topic the filter `b` matches, `a` matches too. */
export function covers(a: readonly string[], b: readonly string[]): boolean {
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '#') return !(i === 0 && b[0]!.charCodeAt(0) === DOLLAR);
    if (i >= b.length) return false;
    // `b`'s `#` matches more than any single level of `a`.
    if (b[i] === '#') return false;
    if (!levelWithin(a[i]!, b[i]!, i === 0)) return false;
  }
  return a.length === b.length;
}

/** Some topic is matched by both `a` and `b`. */
export function intersects(a: readonly string[], b: readonly string[]): boolean {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    // One filter ended: they share a topic only if the other's rest is `#` (it matches its parent level).
    if (x === undefined) return y === '#';
    if (y === undefined) return x === '#';
    if (x === '#' || y === '#') {
      // At the first level a wildcard cannot meet a `$` level of the other.
      return !(i === 0 && ((isWild(x) && !isWild(y) && y.charCodeAt(0) === DOLLAR) || (isWild(y) && !isWild(x) && x.charCodeAt(0) === DOLLAR)));
    }
    if (x === '+' || y === '+') {
      if (i === 0 && ((x === '+' && !isWild(y) && y.charCodeAt(0) === DOLLAR) || (y === '+' && !isWild(x) && x.charCodeAt(0) === DOLLAR))) return false;
      continue;
    }
    if (x !== y) return false;
  }
  return true;
}
