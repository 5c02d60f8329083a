// The registry: every edit method, training objective and diagnostic, described once. What
// `mechedit methods` prints, what the engine answers to 'registry/describe', and what the build
// writes into package.json's enums and the edit schema's method list.

import type { RegistryDescription } from '../../protocol/registry';
import { EDIT_METHOD_DESCRIPTORS } from '../jobs/editJob';
import { OBJECTIVE_DESCRIPTORS } from '../methods/objectives';
import { diagnosticDescriptors } from '../diagnostics/plugins/index';

export function describeRegistry(): RegistryDescription {
  return {
    methods: [...EDIT_METHOD_DESCRIPTORS],
    objectives: [...OBJECTIVE_DESCRIPTORS],
    diagnostics: diagnosticDescriptors(),
  };
}
