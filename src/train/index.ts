export * from './trainer';
export * from './sgd';
export * from './schedule';
export * from './sampler';
export * from './checkpoint';
export * from './embed';
export * from './fit';
