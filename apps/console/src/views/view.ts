// What every view returns: its element, and what to stop (streams, timers) when the user leaves it.
export interface View {
  el: HTMLElement;
  dispose?(): void;
  /** Unsaved work the user would lose by leaving (the shell asks first, and so does the browser on unload). */
  hasUnsavedChanges?(): boolean;
}
