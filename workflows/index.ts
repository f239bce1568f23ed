// The workflow bundle's entry: every workflow the worker registers, exported by name.
export { pipelineWorkflow } from './pipeline.workflow';
