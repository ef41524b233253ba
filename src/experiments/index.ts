export * from './presets';
export * from './runner';
export * from './summary';
export * from './reproduce';
