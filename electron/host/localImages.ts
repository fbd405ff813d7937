// images.local: the local docker and podman images for the app's Open image…
// dialog. The engine lists and validates them; a missing or unreachable engine
// comes back as a note, so the dialog still opens with what there is.
import type { Response } from '../../shared/contract';
import { localImages } from '../engine/oci/local-images';

export async function localImagesReply(signal?: AbortSignal): Promise<Response<'images.local'>> {
  return localImages(signal);
}
