import 'reflect-metadata';
import { plainToInstance, Type } from 'class-transformer';
import { IsString, validateSync, ValidateNested } from 'class-validator';
import { IsObjectArray } from './union-validators';

class Item {
  @IsString()
  name!: string;
}

class Holder {
  @IsObjectArray()
  @ValidateNested({ each: true })
  @Type(() => Item)
  items!: Item[];
}

const failures = (items: unknown): string[] => validateSync(plainToInstance(Holder, { items })).flatMap((error) => Object.keys(error.constraints ?? {}));

describe('IsObjectArray', () => {
  it('refuses nulls and nested lists, which ValidateNested alone lets through', () => {
    expect(failures([null])).toContain('isObjectArray');
    expect(failures([[]])).toContain('isObjectArray');
    expect(failures([[[{ name: 1 }]]])).toContain('isObjectArray');
    expect(failures('items')).toContain('isObjectArray');
  });

  it('takes a list of objects, whose fields ValidateNested then checks', () => {
    expect(failures([{ name: 'a' }, { name: 'b' }])).toEqual([]);
    expect(failures([])).toEqual([]);
    expect(validateSync(plainToInstance(Holder, { items: [{ name: 7 }] }))).toHaveLength(1);
  });
});
