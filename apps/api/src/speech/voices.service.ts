import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { join } from 'node:path';
import { OMNI_CONFIG, type OmniConfig } from '@mlx-omni/config';
import type { SpeechPayload } from '@mlx-omni/jobs';
import { AudioDecodeError, AudioDecoderMissingError, decodeAudioFile } from '@mlx-omni/mlx-native/decode-audio';
import { familyById } from '@mlx-omni/model-families';
import type { ResolvedModel } from '@mlx-omni/model-hub';
import type { SpeechVoice } from '@mlx-omni/openai-dto';
import { ApiError } from '../common/errors/api-error';
import { readAudioUpload } from '../common/http/audio-upload';
import { ModelsService } from '../models/models.service';
import type { VoiceListDto } from './dto/voice-list.dto';
import type { VoiceDeletedDto, VoiceResourceDto } from './dto/voice-resource.dto';
import { VOICE_NAME, VoiceExistsError, VoiceLibrary, type RegisteredVoice } from './voice-library';
import { modelVoices, OPENAI_VOICE_COUNTERPARTS, resolveVoice } from './voices';

/**
 * Reference clips are stored at F5-TTS's rate (the worker decodes them again at its model's); 5 to 15
 * seconds, as F5 wants them: shorter ones give it too little of the voice, longer ones leave too little of
 * its ~22-second window for new speech.
 */
const REFERENCE_SAMPLE_RATE = 24_000;
const REFERENCE_SECONDS = { min: 5, max: 15 };
const MAX_TRANSCRIPT_CHARS = 1000;
/** Below this RMS a clip is silence: there is no voice to clone. */
const SILENCE_RMS = 1e-3;

const bad = (message: string, param: string, code = 'invalid_value') => new ApiError(400, message, { code, param });

function textField(fields: Record<string, string | string[]>, name: string): string {
  const value = fields[name];
  if (value === undefined || (typeof value === 'string' && value.trim() === '')) {
    throw bad(`"${name}" is required`, name, 'missing_required_parameter');
  }
  if (typeof value !== 'string') {
    throw bad(`"${name}" must be given once`, name);
  }
  return value.trim();
}

function toDto(voice: RegisteredVoice): VoiceResourceDto {
  return { object: 'audio.voice', id: voice.name, name: voice.name, created_at: voice.created_at, transcript: voice.transcript, duration_seconds: voice.duration_seconds };
}

/**
 * The voices speech requests name. A family that ships voices (Kokoro) speaks in its model folder's packs,
 * OpenAI's names mapped to their counterparts; a family that clones one (F5-TTS) speaks in a reference voice
 * registered on this server (POST /v1/audio/voices: a 5-15 s clip and its transcript), whose clip the
 * speech job carries by path.
 */
@Injectable()
export class VoicesService {
  private readonly library: VoiceLibrary;

  constructor(
    private readonly models: ModelsService,
    @Inject(OMNI_CONFIG) private readonly config: OmniConfig,
  ) {
    this.library = new VoiceLibrary(join(config.stateDir, 'voices'));
  }

  async list(modelId: string): Promise<VoiceListDto> {
    const model = await this.models.resolveFor(modelId, 'text-to-speech');
    if (clonesVoices(model)) {
      const voices = await this.library.list();
      return { object: 'list', model: model.id, data: voices.map(({ name, transcript, duration_seconds, created_at }) => ({ id: name, object: 'voice', transcript, duration_seconds, created_at })) };
    }
    const aliases = new Map(Object.entries(OPENAI_VOICE_COUNTERPARTS).map(([openai, voice]) => [voice, openai]));
    const voices = await modelVoices(model.path);
    return { object: 'list', model: model.id, data: voices.map((id) => ({ id, object: 'voice', ...(aliases.has(id) ? { openai_name: aliases.get(id) } : {}) })) };
  }

  /** The voice a speech request for `model` names, and for a cloning family the clip and transcript it is cloned from; 400 listing the voices otherwise. */
  async resolve(requested: SpeechVoice, model: ResolvedModel): Promise<Pick<SpeechPayload, 'voice' | 'reference'>> {
    if (!clonesVoices(model)) {
      return { voice: resolveVoice(requested, await modelVoices(model.path)) };
    }
    const name = typeof requested === 'string' ? requested : requested.id;
    const stored = await this.library.find(name);
    if (stored === undefined) {
      const names = (await this.library.list()).map((voice) => voice.name);
      const known = names.length === 0 ? 'no voices are registered yet' : `registered voices: ${names.join(', ')}`;
      throw bad(`Unknown voice "${name}"; ${model.id} clones a registered reference voice (POST /v1/audio/voices), and ${known}`, 'voice');
    }
    return { voice: name, reference: { audio_path: stored.audioPath, transcript: stored.voice.transcript } };
  }

  /** `POST /v1/audio/voices` (multipart: name, audio_sample, transcript): the clip decoded to 24 kHz mono and stored. */
  async register(request: FastifyRequest): Promise<VoiceResourceDto> {
    const upload = await readAudioUpload(request, join(this.config.stateDir, 'uploads'), this.config.audioMaxBytes, 'audio_sample');
    try {
      const name = textField(upload.fields, 'name');
      if (!VOICE_NAME.test(name)) {
        throw bad(`"${name}" is not a voice name: 1-64 letters, digits, "_", "." or "-", starting with a letter or digit`, 'name');
      }
      const transcript = textField(upload.fields, 'transcript');
      if (transcript.length > MAX_TRANSCRIPT_CHARS) {
        throw bad(`The transcript has ${transcript.length} characters; at most ${MAX_TRANSCRIPT_CHARS}`, 'transcript');
      }
      if (upload.file === undefined || upload.file.bytes === 0) {
        throw bad('No audio: send the reference clip in the "audio_sample" field of a multipart/form-data body', 'audio_sample', 'missing_required_parameter');
      }
      const samples = await this.decode(upload.file.path);
      const seconds = samples.length / REFERENCE_SAMPLE_RATE;
      if (seconds < REFERENCE_SECONDS.min || seconds > REFERENCE_SECONDS.max) {
        throw bad(`The clip is ${seconds.toFixed(1)} s long; a reference voice needs ${REFERENCE_SECONDS.min} to ${REFERENCE_SECONDS.max} s of speech`, 'audio_sample', 'invalid_audio');
      }
      const rms = Math.sqrt(samples.reduce((sum, sample) => sum + sample * sample, 0) / samples.length);
      if (rms < SILENCE_RMS) {
        throw bad('The clip is silent; a reference voice needs speech', 'audio_sample', 'invalid_audio');
      }
      return toDto(await this.library.register(name, transcript, samples, REFERENCE_SAMPLE_RATE));
    } catch (error) {
      if (error instanceof VoiceExistsError) {
        throw new ApiError(409, error.message, { code: 'voice_exists', param: 'name' });
      }
      throw error;
    } finally {
      await upload.discard();
    }
  }

  async remove(name: string): Promise<VoiceDeletedDto> {
    if (!(await this.library.delete(name))) {
      throw new ApiError(404, `No voice named "${name}" is registered`, { code: 'voice_not_found', param: 'name' });
    }
    return { id: name, object: 'audio.voice', deleted: true };
  }

  private async decode(path: string): Promise<Float32Array> {
    try {
      return await decodeAudioFile(path, { sampleRate: REFERENCE_SAMPLE_RATE });
    } catch (error) {
      if (error instanceof AudioDecodeError) {
        throw bad(error.message, 'audio_sample', 'invalid_audio');
      }
      if (error instanceof AudioDecoderMissingError) {
        throw new ApiError(503, error.message, { code: 'decoder_missing' });
      }
      throw error;
    }
  }
}

function clonesVoices(model: ResolvedModel): boolean {
  return familyById(model.family ?? '')?.voices === 'cloned';
}
