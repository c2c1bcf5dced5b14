import { SetMetadata } from '@nestjs/common';

export const ADMIN_ONLY = 'mlx-omni:admin-only';

/** The route needs a key with role `admin` (403 for a `user` key); with keys off everyone is admin. */
export const AdminOnly = (): MethodDecorator & ClassDecorator => SetMetadata(ADMIN_ONLY, true);
