/** CoReFace: the contrastive regulariser and the combined objective. */
export * from './contrastive';
export * from './objective';
