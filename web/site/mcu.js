// The MCU panel: what the chosen network costs on a microcontroller.
export function mcuPanel(info) {
  const div = document.createElement("div");
  const p = document.createElement("p");
  p.textContent = `${info.params} parameters; model file ${info.model_bytes} bytes ` +
    `(weights, optimizer state ${info.optimizer_state} scalars, CRC).`;
  div.append(p);
  return div;
}
