export * from './schema';
export * from './train-config';
