/**
 * Classification heads. Importing this module registers every head; to add one, write src/heads/<name>.ts that
 * calls `registerHead` and add one import line below.
 */
export * from './types';
export * from './functional';
export * from './registry';
export * from './base';
export * from './softmax';
export * from './normface';
export * from './cosface';
export * from './arcface';
export * from './common';
export * from './sphereface';
export * from './combined';
export * from './curricularface';
export * from './magface';
export * from './adaface';
export * from './elastic';
export * from './elasticface-arc';
export * from './elasticface-cos';
export * from './subcenter-arcface';
export * from './cam-softmax';
export * from './angular-sparsemax';
