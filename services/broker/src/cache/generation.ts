// A cache fill races with invalidation: a reply requested before an event and received after it
// must not be stored. Each fill remembers the generation it started in and stores only if unchanged.
export class Generation {
  private n = 0;
  get current(): number {
    return this.n;
  }
  bump(): void {
    this.n += 1;
  }
}
