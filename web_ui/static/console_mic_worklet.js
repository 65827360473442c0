// Audio worklet: hands the microphone's samples (mono, the context's 16 kHz) to the page.
class PcmTap extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel && channel.length) this.port.postMessage(new Float32Array(channel));
    return true;
  }
}

registerProcessor("pcm-tap", PcmTap);
