// Inspecting any image (issue 6): open it, see its layers, sizes and waste,
// compare it with another. The app (electron/host) and the CLI call only these.
export { openImage, layerCommands, ImageOpenError, type OpenedImage, type OpenedLayer } from './open';
export { analyzeImage, layerStates, lastWriterIndex, type AnalyzedLayer, type DiveFigures, type ImageAnalysis, type LayerFigures, type WastedPath } from './analyze';
export { largestDirs, largestFiles, sizeMap, type LastWriter, type SizeEntry, type SizeNode } from './sizes';
export { compareTrees, fileListDiff, type PathChange } from './compare';
export { cleanCommand, recipeLayerLabel } from './labels';
export { filterTree, globRegExp, layerSizes, pathMatcher, type Change, type FilteredRow, type FilteredTree, type TreeFilter } from './treeFilter';
