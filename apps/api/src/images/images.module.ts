import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { ModelsModule } from '../models/models.module';
import { ImagesController } from './images.controller';
import { ImagesService } from './images.service';

@Module({ imports: [JobsModule, ModelsModule], controllers: [ImagesController], providers: [ImagesService] })
export class ImagesModule {}
