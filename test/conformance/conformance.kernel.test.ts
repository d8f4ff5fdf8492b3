import { describeKernel } from '../harness/kernel-gate.js';
import { createKernelTarget } from './kernel-target.js';
import { describeConformance } from './scenarios.js';

// Each scenario builds its own network namespaces, so they run side by side.
describeKernel('kernel datapath', () => {
  describeConformance('conformance: nftables in network namespaces', createKernelTarget, {
    concurrent: true,
    capabilities: ['foreign-ruleset'],
  });
});
