import { Module } from '@nestjs/common';
import { InferenceModule } from '../inference/inference.module';
import { ImagesController } from './images.controller';
import { ImagesService } from './images.service';

@Module({ imports: [InferenceModule], controllers: [ImagesController], providers: [ImagesService] })
export class ImagesModule {}
