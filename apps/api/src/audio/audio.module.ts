import { Module } from '@nestjs/common';
import { InferenceModule } from '../inference/inference.module';
import { AudioController } from './audio.controller';
import { AudioService } from './audio.service';

@Module({ imports: [InferenceModule], controllers: [AudioController], providers: [AudioService] })
export class AudioModule {}
