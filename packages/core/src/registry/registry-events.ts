export type RegistryEvent =
  | { readonly type: 'registered'; readonly name: string; readonly packageName?: string; readonly version?: string }
  | { readonly type: 'created'; readonly name: string; readonly key: string }
  | { readonly type: 'loaded'; readonly name: string; readonly key: string; readonly ms: number }
  | { readonly type: 'unloaded'; readonly name: string; readonly key: string }
  | { readonly type: 'failed'; readonly name: string; readonly stage: 'create' | 'load' | 'unload'; readonly error: Error };

export type RegistryListener = (event: RegistryEvent) => void;
