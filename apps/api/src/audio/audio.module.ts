import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { WorkersModule } from '../workers/workers.module';
import { AudioController } from './audio.controller';
import { AudioService } from './audio.service';

@Module({ imports: [ModelsModule, WorkersModule], controllers: [AudioController], providers: [AudioService] })
export class AudioModule {}
