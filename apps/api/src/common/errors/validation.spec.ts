import { ArgumentMetadata } from '@nestjs/common';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsInt, IsString, Max, ValidateNested } from 'class-validator';
import { ApiError } from './api-error';
import { createValidationPipe } from './validation';

class Message {
  @IsIn(['user', 'assistant'])
  role!: string;

  @IsString()
  content!: string;
}

class Body {
  // The decorators of ChatCompletionRequestDto.messages, whose failures class-validator lists size-first.
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(4096)
  @ValidateNested({ each: true })
  @Type(() => Message)
  messages!: Message[];

  @IsInt()
  @Max(10)
  n!: number;
}

const metadata: ArgumentMetadata = { type: 'body', metatype: Body };

describe('createValidationPipe', () => {
  const pipe = createValidationPipe();

  it('names the nested field at fault in param', async () => {
    const failure = pipe.transform({ messages: [{ role: 'user', content: 'hi' }, { role: 'robot', content: 'x' }], n: 1 }, metadata);
    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await expect(failure).rejects.toMatchObject({
      status: 400,
      param: 'messages[1].role',
      code: 'invalid_value',
    });
  });

  it('says a missing field is required, and a value of the wrong type what type it must be, before any size rule', async () => {
    await expect(pipe.transform({ n: 1 }, metadata)).rejects.toMatchObject({
      param: 'messages', message: 'messages is required',
    });
    await expect(pipe.transform({ messages: 'hello', n: 1 }, metadata)).rejects.toMatchObject({
      param: 'messages', message: 'messages must be an array',
    });
    await expect(pipe.transform({ messages: [], n: 1 }, metadata)).rejects.toMatchObject({
      param: 'messages', message: 'messages must contain at least 1 elements',
    });
  });

  it('reports top-level fields by name and keeps the reason', async () => {
    await expect(pipe.transform({ messages: [{ role: 'user', content: 'hi' }], n: 11 }, metadata)).rejects.toMatchObject({
      param: 'n', message: expect.stringMatching(/n must not be greater than 10/),
    });
  });

  it('strips unknown fields instead of rejecting them', async () => {
    const value = (await pipe.transform({ messages: [{ role: 'user', content: 'hi' }], n: 2, vendor_extension: true }, metadata)) as Record<string, unknown>;
    expect(value).toBeInstanceOf(Body);
    expect(value.vendor_extension).toBeUndefined();
  });
});
