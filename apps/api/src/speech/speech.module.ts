import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { ModelsModule } from '../models/models.module';
import { SpeechController } from './speech.controller';
import { SpeechService } from './speech.service';

@Module({ imports: [JobsModule, ModelsModule], controllers: [SpeechController], providers: [SpeechService] })
export class SpeechModule {}
