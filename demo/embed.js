// The embed example: <nucleus-view> driven by the toy distribution (all in HTML) and by a model
// in a Web Worker. Only the package's modules are used.
import '/web/nucleus-view.js';
import { WorkerModel } from '/web/worker-client.js';

const $ = (id) => document.getElementById(id);

// The toy view: say what the sliders did.
$('toy').addEventListener('nucleus-draw', ({ detail: { report } }) => {
  const words = Array.from(report.ids.slice(0, report.nucleusSize), (id) => $('toy').tokens[id]);
  $('toy-note').textContent = `The nucleus at p ${$('toy').topP.toFixed(2)}, T ${$('toy').temperature.toFixed(2)}: ${words.join(', ')} (mass ${report.nucleusMass.toFixed(3)}).`;
});

const view = $('model-view');
const status = $('embed-status');
const worker = new WorkerModel(new URL('/web/worker.js', location.href));

async function showNext() {
  $('embed-next').disabled = true;
  try {
    const ids = await worker.tokenize($('embed-prompt').value, { bos: true });
    view.logits = await worker.logits(ids);
    status.textContent = `Next token after ${ids.length} tokens: click a bar to append it.`;
  } catch (error) {
    status.textContent = `Error: ${error.message}`;
  } finally {
    $('embed-next').disabled = false;
  }
}

view.addEventListener('nucleus-pick', ({ detail: { text } }) => {
  $('embed-prompt').value += text;
  showNext();
});
$('embed-next').addEventListener('click', showNext);

try {
  const info = await worker.load('/models/stories260K-q8_0.gguf');
  view.tokens = await worker.tokenText(Array.from({ length: info.vocabSize }, (_, i) => i));
  status.dataset.state = 'ready';
  await showNext();
} catch (error) {
  status.dataset.state = 'error';
  status.textContent = `Error: cannot load the model: ${error.message}`;
}
