// The bottom dock's state (issue 15): open or collapsed, its height, the tab
// shown. Kept apart from the main store: only the dock and the header use it.
// Height and collapse are remembered across reloads.
import { create } from 'zustand';

/** "build", "results", or a terminal's engine id. */
export type DockTab = string;

export const DOCK_MIN = 120;
const KEY = 'scratchyard.dock';

interface DockState {
  collapsed: boolean;
  height: number;
  tab: DockTab;
  setCollapsed(c: boolean): void;
  setHeight(h: number): void;
  /** Show a tab, opening the dock. */
  show(tab: DockTab): void;
}

function remembered(): { collapsed: boolean; height: number } {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? '{}') as { collapsed?: unknown; height?: unknown };
    return { collapsed: v.collapsed === true, height: typeof v.height === 'number' && v.height >= DOCK_MIN ? v.height : 240 };
  } catch {
    return { collapsed: false, height: 240 };
  }
}

function remember(s: { collapsed: boolean; height: number }): void {
  try {
    localStorage.setItem(KEY, JSON.stringify({ collapsed: s.collapsed, height: s.height }));
  } catch {
    // storage off: the dock still works, it only forgets
  }
}

export const useDock = create<DockState>((set, get) => ({
  ...remembered(),
  tab: 'build',
  setCollapsed(collapsed) {
    set({ collapsed });
    remember(get());
  },
  setHeight(height) {
    set({ height: Math.max(DOCK_MIN, Math.round(height)) });
    remember(get());
  },
  show(tab) {
    set({ tab, collapsed: false });
    remember(get());
  },
}));

/**
 * The tallest the dock may be: the main view keeps at least half the window.
 * `top` is where the main view starts (below the header and banners).
 */
export function dockMax(windowHeight: number, top: number): number {
  return Math.max(DOCK_MIN, Math.floor(windowHeight / 2 - top));
}
