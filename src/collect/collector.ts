import { Sample, Target } from '../core/model';
import { NetFiles } from './netfiles';

/** A collector owns one kind of kernel data and reads it through the target's shared NetFiles. */
export interface Collector {
  readonly name: string;
  collect(target: Target, files: NetFiles): Sample[];
}
