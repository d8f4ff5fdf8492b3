import { createModelTarget } from './model-target.js';
import { describeConformance } from './scenarios.js';

describeConformance('conformance: reference model', createModelTarget);
