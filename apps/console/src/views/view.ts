// What every view returns: its element, and what to stop (streams, timers) when the user leaves it.
export interface View {
  el: HTMLElement;
  dispose?(): void;
}
