import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { ModelsModule } from '../models/models.module';
import { SpeechController } from './speech.controller';
import { SpeechService } from './speech.service';
import { VoicesController } from './voices.controller';
import { VoicesService } from './voices.service';

@Module({ imports: [JobsModule, ModelsModule], controllers: [SpeechController, VoicesController], providers: [SpeechService, VoicesService] })
export class SpeechModule {}
