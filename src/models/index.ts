/**
 * Models: parameter store, functional ops, backbone registry (+ every backbone family file, which
 * registers its presets on import), the CoReFace embedding neck and the FaceModel.
 */
export * from './params';
export * from './ops';
export * from './registry';
export * from './iresnet';
export * from './neck';
export * from './face-model';
