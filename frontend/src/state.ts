// App-wide state: who is signed in, the stages, and the stage being edited.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Stage, User, ItemType } from './api';

export interface AppState {
  user: User | null;
  stages: Stage[];
  stage: string; // the stage being edited and previewed: "live" or a stage name
  types: ItemType[];
  setStage: (name: string, opts?: { quiet?: boolean }) => Promise<void>;
  reloadStages: () => Promise<void>;
  reloadTypes: () => Promise<void>;
  signOut: () => Promise<void>;
}

export const AppContext = createContext<AppState>(null as unknown as AppState);
export const useApp = () => useContext(AppContext);

export const LIVE = 'live';

export function stageLabel(stages: Stage[], name: string): string {
  if (name === LIVE) return 'Live';
  const s = stages.find((x) => x.name === name || x.id === name);
  return s ? s.label || s.name : name;
}

/** stageParam is the query value for API reads and writes in the stage. */
export function stageParam(name: string): string | undefined {
  return name && name !== LIVE ? name : undefined;
}
