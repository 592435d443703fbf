import { loadConfig } from '../config/index.js';
import { MODELS, missingModelFiles, modelDirFor, type ModelKind } from '../text/embed/index.js';

/** Which clustering path is configured and which embedding models are installed (`recur --version`). */
export async function describeModels(env: Record<string, string | undefined>): Promise<string> {
  const config = loadConfig({ env });
  const lines = [`clustering: ${config.cluster.embedder === 'none' ? 'lexical (TF-IDF)' : `by meaning (${config.cluster.embedder}; lexical when the model is not installed)`}`];
  for (const kind of Object.keys(MODELS) as ModelKind[]) {
    const dir = modelDirFor(kind, config.cluster.modelDir);
    const missing = await missingModelFiles(dir);
    lines.push(`embedder ${kind}: ${missing.length === 0 ? `installed (${dir})` : 'not installed (npm run model:fetch)'}`);
  }
  return lines.join('\n');
}
