import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CreateImageRequestDto, ImagesResponseDto } from '@mlx-omni/openai-dto';
import { clientGone } from '../common/http/client-gone';
import { requestContext } from '../common/http/request-context';
import { ApiErrorResponses } from '../common/openapi/api-error-responses.decorator';
import { JobResponseDto } from '../jobs/dto/job-response.dto';
import { ImagesService } from './images.service';

@ApiTags('images')
@Controller('v1/images')
export class ImagesController {
  constructor(private readonly images: ImagesService) {}

  @Post('generations')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Create images from a prompt (FLUX.1)',
    description:
      'Runs as a job on a worker. Answers with the images when they are ready within MLX_OMNI_JOB_WAIT_S; otherwise 202 with the job, whose progress shows `step`/`steps` and whose result names the image files.',
  })
  @ApiOkResponse({ type: ImagesResponseDto })
  @ApiAcceptedResponse({ type: JobResponseDto, description: 'Still rendering; poll GET /v1/jobs/{id}' })
  @ApiErrorResponses(400, 404, 503)
  async generate(@Body() body: CreateImageRequestDto, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<ImagesResponseDto | JobResponseDto> {
    const answer = await this.images.generate(body, `${request.protocol}://${request.headers.host ?? 'localhost'}`, requestContext(request), clientGone(reply));
    reply.status(answer.status);
    return answer.body;
  }
}
