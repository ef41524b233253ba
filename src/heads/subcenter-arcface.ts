/**
 * Sub-center ArcFace head (Deng, Guo, Liu, Gong, Zafeiriou, "Sub-center ArcFace: Boosting Face Recognition
 * by Large-Scale Noisy Web Faces", ECCV 2020). K centres per class: the weight `head/weight` is
 * [embeddingDim, numClasses * K], column c * K + k being centre k of class c (insightface's layout).
 *
 *     cos t_j = max_k cos(x, W_{j,k}),   then ArcFace: z_y = s cos(t_y + m), z_j = s cos t_j
 *
 * The max's gradient goes to the winning centre (tfjs's Max gradient; ties share it). Defaults scale 64,
 * margin 0.5, subcenters K = 3, easyMargin false. The paper's later stage (dropping non-dominant centres and
 * high-confidence noisy samples) is not implemented.
 */
import * as tf from '@tensorflow/tfjs';
import { checkBoolean, checkPositiveInt, checkScale, softmaxCrossEntropy, withDefaults } from '../ops';
import { checkForwardInputs, HEAD_WEIGHT_NAME, HeadBaseOptions, StatelessHead } from './base';
import { arcfaceLogits, checkArcMargin, cosineLogits, DEFAULT_ARCFACE_MARGIN, DEFAULT_SCALE } from './functional';
import { registerHead } from './registry';

/** Default number of sub-centres per class. */
export const DEFAULT_SUBCENTERS = 3;

/** Options of the sub-center ArcFace head. */
export interface SubcenterArcFaceHeadOptions {
  /** Scale s > 0; default 64. */
  scale?: number;
  /** Additive angular margin m in [0, pi); default 0.5. */
  margin?: number;
  /** Centres per class K, a positive integer; default 3. */
  subcenters?: number;
  /** insightface's correction for cos t_y <= cos(pi - m); default false. */
  easyMargin?: boolean;
}

/** Defaults of the sub-center ArcFace head: scale 64, margin 0.5, 3 sub-centres, no easy margin. */
export const SUBCENTER_ARCFACE_DEFAULTS: Readonly<Required<SubcenterArcFaceHeadOptions>> = {
  scale: DEFAULT_SCALE, margin: DEFAULT_ARCFACE_MARGIN, subcenters: DEFAULT_SUBCENTERS, easyMargin: false,
};

/** ArcFace over the best of K centres per class. */
export class SubcenterArcFaceHead extends StatelessHead {
  readonly name = 'subcenter-arcface';
  /** W, [embeddingDim, numClasses * K]. */
  readonly weight: tf.Variable;
  readonly variables: tf.Variable[];
  readonly scale: number;
  readonly margin: number;
  readonly subcenters: number;
  readonly easyMargin: boolean;

  constructor(base: HeadBaseOptions, opts: SubcenterArcFaceHeadOptions = {}) {
    const o = withDefaults(SUBCENTER_ARCFACE_DEFAULTS, opts);
    const scale = checkScale(o.scale);
    const margin = checkArcMargin(o.margin);
    const subcenters = checkPositiveInt('subcenters', o.subcenters);
    const easyMargin = checkBoolean('easyMargin', o.easyMargin);
    super(base, { scale, margin, subcenters, easyMargin });
    this.scale = scale;
    this.margin = margin;
    this.subcenters = subcenters;
    this.easyMargin = easyMargin;
    this.weight = base.store.variable(
      HEAD_WEIGHT_NAME, [base.embeddingDim, base.numClasses * subcenters], 'normal', base.rng,
    );
    this.variables = [this.weight];
  }

  /** cos t_j = max over the class's centres, [B, numClasses]. */
  cosine(embeddings: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const all = cosineLogits(embeddings, this.weight as tf.Tensor2D);
      return tf.max(tf.reshape(all, [embeddings.shape[0], this.numClasses, this.subcenters]), 2) as tf.Tensor2D;
    });
  }

  forward(embeddings: tf.Tensor2D, labels: tf.Tensor1D): { loss: tf.Scalar; logits: tf.Tensor2D } {
    checkForwardInputs(this, embeddings, labels);
    return tf.tidy(() => {
      const cos = this.cosine(embeddings);
      const z = arcfaceLogits(cos, labels, { scale: this.scale, margin: this.margin, easyMargin: this.easyMargin });
      return { loss: softmaxCrossEntropy(z, labels), logits: tf.mul(cos, this.scale) as tf.Tensor2D };
    });
  }
}

registerHead('subcenter-arcface', {
  description: 'ArcFace where each class has K centres and cos(theta_j) is the best of them',
  paper: 'Deng, Guo, Liu, Gong, Zafeiriou. Sub-center ArcFace: Boosting Face Recognition by Large-Scale Noisy Web Faces. ECCV 2020',
  defaults: SUBCENTER_ARCFACE_DEFAULTS,
  create: (opts) => new SubcenterArcFaceHead(opts, opts as SubcenterArcFaceHeadOptions),
});
