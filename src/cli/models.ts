import { loadConfig } from '../config/index.js';
import { defaultModelDir, MODELS, missingModelFiles, type ModelKind } from '../text/embed/index.js';

/** Which clustering path is configured and which embedding models are installed (`recur --version`). */
export async function describeModels(env: Record<string, string | undefined>): Promise<string> {
  const config = loadConfig({ env });
  const lines = [`clustering: ${config.cluster.embedder === 'none' ? 'lexical (TF-IDF)' : `by meaning (${config.cluster.embedder}) for eval and re-fits; lexical online`}`];
  for (const kind of Object.keys(MODELS) as ModelKind[]) {
    const dir = config.cluster.modelDir ? `${config.cluster.modelDir}/${MODELS[kind].dirName}` : defaultModelDir(kind);
    const missing = await missingModelFiles(dir);
    lines.push(`embedder ${kind}: ${missing.length === 0 ? `installed (${dir})` : 'not installed (npm run model:fetch)'}`);
  }
  return lines.join('\n');
}
